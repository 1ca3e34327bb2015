// Package outbound is the HTTP client for requests that leave the server:
// run callbacks, event webhooks, and calls to MCP servers and external
// knowledge bases. It also holds the retry schedule and the classification
// of delivery attempts.
//
// Two constructors separate the two kinds of destination:
//
//   - NewClient is for URLs that arrive in API requests (a run's
//     callback_url, a session's webhook_url). Such URLs are untrusted, so
//     the client resolves the host itself and rejects loopback, private,
//     link-local, cloud metadata and other non-public addresses before it
//     connects. The check runs at dial time, after DNS resolution, so a
//     name that resolves to a public address during validation and to a
//     private one later (DNS rebinding) is still rejected. Config.AllowHosts
//     and Config.AllowPrivateNetworks lift the check for chosen hosts or for
//     all of them.
//   - NewTrusted is for URLs that the operator wrote in the manifest (MCP
//     servers, the knowledge base endpoint, the default event webhook), so
//     sidecars on loopback or a private network work.
//
// NewClient rejects these address classes:
//
//   - loopback: 127.0.0.0/8, ::1
//   - private: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7,
//     fec0::/10, 64:ff9b:1::/48
//   - link-local: 169.254.0.0/16, fe80::/10
//   - cloud metadata: 169.254.169.254, fd00:ec2::254
//   - unspecified: 0.0.0.0/8, ::
//   - shared (carrier-grade NAT): 100.64.0.0/10
//   - multicast: 224.0.0.0/4, ff00::/8
//   - broadcast: 255.255.255.255
//   - reserved: 192.0.0.0/24, 198.18.0.0/15, 240.0.0.0/4, ::/96
//
// An IPv4 address written in IPv6 form gets the class of the IPv4 address:
// IPv4-mapped (::ffff:127.0.0.1), NAT64 (64:ff9b::7f00:1) and 6to4
// (2002:7f00:1::).
//
// Both clients ignore proxy settings in the environment, follow no
// redirects (a 3xx response is returned as it is), and bound every attempt
// with Config.Timeout. Client.Do also limits the response body to
// Config.MaxResponseBytes.
//
// Schedule, ParseRetryAfter and Classify implement the delivery policy of
// callbacks and event webhooks: which responses count as delivered, which
// stop delivery for good (410 Gone), and how long to wait before the next
// attempt.
package outbound
