package llm

import "errors"

// Sentinel errors of package llm; match them with errors.Is.
var (
	// ErrInvalidModelID reports a model id that is not "provider/model".
	ErrInvalidModelID = errors.New("invalid model id")
	// ErrUnknownProvider reports a provider name that no factory handles.
	ErrUnknownProvider = errors.New("unknown provider")
	// ErrProviderNotCompiled reports a known provider that this build
	// leaves out. Register a factory for it in [Options.Providers].
	ErrProviderNotCompiled = errors.New("provider not compiled in")
	// ErrMissingAPIKey reports a provider that needs an api_key and has
	// neither a key nor a base_url of a server that needs none.
	ErrMissingAPIKey = errors.New("missing api_key")
	// ErrToolNameCollision reports two offered tools whose provider names
	// are equal, so replies could not be mapped back.
	ErrToolNameCollision = errors.New("tool names collide")
	// ErrAllModelsFailed reports that every model of a lane failed. The
	// error also wraps each model's error.
	ErrAllModelsFailed = errors.New("every model of the lane failed")
)

// modelErrors joins the errors of a lane's models with "; " and unwraps to
// all of them.
type modelErrors []error

func (e modelErrors) Error() string {
	var b []byte
	for i, err := range e {
		if i > 0 {
			b = append(b, "; "...)
		}
		b = append(b, err.Error()...)
	}
	return string(b)
}

func (e modelErrors) Unwrap() []error { return e }
