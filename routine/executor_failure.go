package routine

import (
	"context"
	"errors"
	"fmt"
)

// Failure codes of a run that [Executor.Run] returns in a [Failure]. The
// codes timeout and cancelled never appear in a Failure: when the run's
// context ends, Run returns the context's error instead.
const (
	// CodeOutputValidationFailed: the model called built-in:emit_output
	// with output that did not validate, and the node's model calls ran
	// out before a call succeeded.
	CodeOutputValidationFailed = "output_validation_failed"
	// CodeIterationLimit: a node used up its model calls without
	// finishing, or the run visited more nodes than allowed.
	CodeIterationLimit = "iteration_limit"
	// CodeModelError: a model call failed after every fallback model.
	CodeModelError = "model_error"
	// CodeToolError: a tool that a node needs is not available, so the
	// node cannot run. A tool call that fails is reported to the model
	// instead.
	CodeToolError = "tool_error"
	// CodeInternalError: the routine cannot run as defined, for example
	// it meets a chat node or ends without output.
	CodeInternalError = "internal_error"
)

// Failure is the error of a run that failed: a code and a message. Err,
// when set, is the underlying error, such as the model's, and Unwrap
// returns it.
type Failure struct {
	// Code is one of the Code* constants.
	Code string
	// Message describes the failure in plain words. It may be shown to the
	// routine's caller.
	Message string
	// Err is the underlying error, or nil.
	Err error
}

// Error returns the code and the message.
func (f *Failure) Error() string { return f.Code + ": " + f.Message }

// Unwrap returns the underlying error.
func (f *Failure) Unwrap() error { return f.Err }

func failf(code, format string, args ...any) *Failure {
	return &Failure{Code: code, Message: fmt.Sprintf(format, args...)}
}

// modelFailure returns the error of a failed model call: ctx's cause
// when ctx has ended, or a Failure with code model_error.
func modelFailure(ctx context.Context, label string, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return &Failure{Code: CodeModelError, Message: fmt.Sprintf("%s: the model call failed: %v", label, err), Err: err}
}

// AsFailure returns the Failure in err's chain, or nil.
func AsFailure(err error) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	return nil
}
