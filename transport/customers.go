package transport

import (
	"net/http"

	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/transport/wire"
)

func (s *Server) putCustomer(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "customer")
	if err != nil {
		return err
	}
	var req wire.PutCustomerRequest
	if err := s.decodeJSON(w, r, &req, true); err != nil {
		return err
	}
	c, created, err := s.store.PutCustomer(r.Context(), store.Customer{
		ID: id, Name: req.Name, Variables: req.Variables, Metadata: req.Metadata,
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, toWireCustomer(c))
	return nil
}

func (s *Server) getCustomer(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "customer")
	if err != nil {
		return err
	}
	c, err := s.store.GetCustomer(r.Context(), id)
	if err != nil {
		return customerErr(err, id)
	}
	writeJSON(w, http.StatusOK, toWireCustomer(c))
	return nil
}

// mergeCustomer handles PATCH of a customer's variables or metadata: the
// body is an object merged into the stored one, and null deletes a key.
func (s *Server) mergeCustomer(metadata bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "customer")
		if err != nil {
			return err
		}
		var patch map[string]any
		if err := s.decodeJSON(w, r, &patch, false); err != nil {
			return err
		}
		c, err := s.store.MergeCustomer(r.Context(), id, metadata, patch)
		if err != nil {
			return customerErr(err, id)
		}
		writeJSON(w, http.StatusOK, toWireCustomer(c))
		return nil
	}
}

func customerErr(err error, id string) error {
	if isNotFound(err) {
		return notFound("customer", id)
	}
	return err
}
