package outbound

import "errors"

// ErrBlockedAddress is wrapped by the error of a request whose host
// resolves to an address that the client does not reach: loopback,
// private, link-local, cloud metadata, and the other classes listed in the
// package documentation.
var ErrBlockedAddress = errors.New("outbound: destination address blocked")

// ErrInvalidConfig is wrapped by the errors of NewClient and
// Schedule.Validate for a configuration value they cannot use.
var ErrInvalidConfig = errors.New("outbound: invalid configuration")
