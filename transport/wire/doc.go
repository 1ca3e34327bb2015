// Package wire defines the JSON types of agentry's HTTP API and of session
// events: the contract shared by the server and the Go client.
//
// The package imports nothing else of agentry, so the client can use it
// without pulling in the server. Types here are not storage types; the
// server maps between the two, so storage can change without changing the
// contract.
package wire
