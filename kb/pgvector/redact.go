package pgvector

import (
	"context"

	"github.com/agentry/agentry/kb"
)

// redactSentinels are the errors that an error with its password masked
// keeps matching.
var redactSentinels = []error{
	kb.ErrUnavailable, kb.ErrInvalidQuery, context.Canceled, context.DeadlineExceeded,
	ErrInvalidConfig, ErrTableNotFound, ErrInvalidTable, ErrDimensionMismatch,
	ErrInvalidVector, ErrInvalidDocument,
}
