// Package httpsearch is a knowledge base behind the integrator's own HTTP
// search endpoint.
//
// For each search, the [Retriever] POSTs a JSON [Request] to the
// configured URL, with "Authorization: Bearer <api key>" when a key is
// set:
//
//	{"query": "reset my password",
//	 "messages": [{"role": "user", "content": "I cannot sign in"}],
//	 "top_k": 5,
//	 "filter": {"topic": "security"}}
//
// and expects a 2xx response with a JSON [Response] body:
//
//	{"results": [{"id": "kb-12", "content": "To reset ...", "score": 0.82,
//	              "metadata": {"title": "Passwords", "topic": "security"}}]}
//
// "filter" is sent only when the query has one. The endpoint may apply
// it, but need not: the retriever also drops every result whose metadata
// does not contain the filter (the rule of jsonb @>). An endpoint that
// ignores the filter therefore returns fewer than top_k useful results.
// The retriever then sorts the results by descending score and keeps at
// most top_k of them, whatever order and number the endpoint returns.
//
// Requests go through a transport/outbound client. The endpoint URL is
// written by the operator, so the default client is outbound.NewTrusted,
// which reaches loopback and private addresses and follows no redirects.
//
// A timeout, a network error, a non-2xx status, malformed JSON or a body
// over the size limit makes Search return an error wrapping
// kb.ErrUnavailable, so the turn goes on without snippets. Errors name the
// endpoint by scheme and host only and never contain the API key.
package httpsearch
