// Package memory is a knowledge base held in memory: documents loaded
// from Markdown and text files, split into chunks, embedded at start-up
// and searched by cosine similarity. It needs no infrastructure, so it is
// the offline default.
//
// [Load] reads files and directories (see [ReadFiles] for what it reads
// and skips), and [New] takes documents from the program. Both split the
// documents with [SplitDocument]: Markdown headings start chunks and give
// them a "title" metadata value, and long sections are cut between
// paragraphs.
//
// The default embedder is the lexical one of package kb/lexical, so
// without an embedding model a search matches words, not meanings. Pass a
// langchaingo embeddings.Embedder in [Options] to search by meaning.
//
// Metadata filters follow the containment rule of PostgreSQL's jsonb @>
// operator, like the pgvector retriever. Scores are cosine similarities.
// A chunk or query with an all-zero vector has no cosine similarity, so
// it never matches.
package memory
