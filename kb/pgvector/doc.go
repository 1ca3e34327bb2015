// Package pgvector is a [kb.Retriever] over a PostgreSQL table searched
// with the pgvector extension (0.8.0 or newer recommended).
//
// The table has three columns:
//
//	id       text PRIMARY KEY
//	vec      vector(N)   the embedding of the chunk
//	metadata jsonb       the chunk's metadata; its text is under the
//	                     content key ("content" by default)
//
// [Retriever.EnsureTable] creates such a table with an HNSW index
// (vector_cosine_ops) and [Retriever.Upsert] fills it. A table that the
// integrator fills by other means works too, as long as it has these
// columns.
//
// Search embeds the query with a langchaingo embeddings.Embedder, orders
// rows by cosine distance (the <=> operator) and returns the score
// 1 - distance, which lies in [-1, 1]. The configured metadata filter and
// Query.Filter both apply as JSONB containment (metadata @> filter).
//
// Vector rules:
//
//   - The column's dimension is read from the table (its typmod) on the
//     first use or by [Retriever.Check], and compared with
//     Config.Dimensions and with the embedder's vectors. A mismatch is an
//     error that names the table and both dimensions.
//   - Vectors with NaN or infinite components are rejected before any
//     statement is sent.
//   - An all-zero vector has no direction, so its cosine distance to
//     anything is undefined (pgvector returns NaN). Upsert rejects it,
//     and a query whose vector is all zeros matches nothing: Search
//     returns no chunks and no error. Rows whose stored vector is all
//     zeros are left out of the results for the same reason.
//
// Errors never contain the database password.
package pgvector
