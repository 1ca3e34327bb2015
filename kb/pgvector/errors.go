package pgvector

import "errors"

// Sentinel errors of the package. Errors of Search also wrap
// kb.ErrInvalidQuery or kb.ErrUnavailable.
var (
	// ErrInvalidConfig is wrapped by errors about a Config value or an
	// argument that cannot be used.
	ErrInvalidConfig = errors.New("pgvector: invalid configuration")
	// ErrTableNotFound is wrapped when the configured table does not
	// exist.
	ErrTableNotFound = errors.New("pgvector: table not found")
	// ErrInvalidTable is wrapped when the table lacks one of the columns
	// id, vec vector(N) and metadata jsonb.
	ErrInvalidTable = errors.New("pgvector: table does not have the expected columns")
	// ErrDimensionMismatch is wrapped when the table's vector dimension,
	// Config.Dimensions and the embedder's vectors disagree.
	ErrDimensionMismatch = errors.New("pgvector: vector dimensions do not match")
	// ErrInvalidVector is wrapped when a vector has NaN or infinite
	// components, or is all zeros where a direction is needed.
	ErrInvalidVector = errors.New("pgvector: invalid vector")
	// ErrInvalidDocument is wrapped when a document given to Upsert has
	// no ID, no content, a repeated ID or metadata that is not JSON.
	ErrInvalidDocument = errors.New("pgvector: invalid document")
)
