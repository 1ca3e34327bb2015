// Package kb is the knowledge base the agent grounds its answers in. A
// [Retriever] returns the chunks most similar to a query; the engine places
// them in the prompt as reference text and cites them on the reply.
//
// Implementations: kb/pgvector (a table the integrator fills, searched by
// cosine distance), kb/httpsearch (the integrator's own search endpoint)
// and kb/memory (documents loaded from files, for setups without
// infrastructure). kb/kbtest is the conformance suite every retriever
// passes.
package kb
