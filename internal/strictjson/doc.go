// Package strictjson checks raw JSON text for what encoding/json accepts
// without complaint: an object key written twice, where the decoder keeps
// the last value, and data after the value. A caller that stores the raw
// bytes and also acts on the decoded value runs Check first, so the two
// can never disagree.
package strictjson
