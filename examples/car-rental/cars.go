package main

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/agentry/agentry/tool"
)

// car is one car of the fleet.
type car struct {
	ID          string `json:"id"`
	Model       string `json:"model"`
	City        string `json:"city"`
	PricePerDay int    `json:"price_per_day_eur"`
}

var fleet = []car{
	{ID: "LIS-1", Model: "Fiat 500", City: "Lisbon", PricePerDay: 35},
	{ID: "LIS-2", Model: "VW Golf", City: "Lisbon", PricePerDay: 48},
	{ID: "POR-1", Model: "Renault Clio", City: "Porto", PricePerDay: 39},
}

// booking is a confirmed rental.
type booking struct {
	Reference string `json:"reference"`
	CarID     string `json:"car_id"`
	Days      int    `json:"days"`
	TotalEUR  int    `json:"total_eur"`
}

// rentals is the booking system behind the tools cars:search,
// cars:quote and cars:book. It is safe for concurrent use.
type rentals struct {
	mu       sync.Mutex
	bookings []booking
}

type searchArgs struct {
	City string `json:"city" jsonschema:"description=Pickup city,minLength=1"`
}

type carDaysArgs struct {
	CarID string `json:"car_id" jsonschema:"description=Id of a car from cars:search,minLength=1"`
	Days  int    `json:"days" jsonschema:"description=Rental days,minimum=1,maximum=60"`
}

// tools returns the three tools of the booking system.
func (r *rentals) tools() ([]tool.Tool, error) {
	search, err := tool.Func("cars:search", "List the cars available in a city.",
		func(_ context.Context, a searchArgs) ([]car, error) {
			var out []car
			for _, c := range fleet {
				if strings.EqualFold(c.City, a.City) {
					out = append(out, c)
				}
			}
			return out, nil
		})
	if err != nil {
		return nil, err
	}
	quote, err := tool.Func("cars:quote", "Quote the total price of a car for a number of days.",
		func(_ context.Context, a carDaysArgs) (map[string]any, error) {
			c, err := findCar(a.CarID)
			if err != nil {
				return nil, err
			}
			return map[string]any{"car": c.Model, "days": a.Days, "total_eur": c.PricePerDay * a.Days}, nil
		})
	if err != nil {
		return nil, err
	}
	book, err := tool.Func("cars:book", "Book a car for a number of days and return the booking reference.",
		func(_ context.Context, a carDaysArgs) (booking, error) {
			c, err := findCar(a.CarID)
			if err != nil {
				return booking{}, err
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			b := booking{Reference: fmt.Sprintf("BK-%04d", len(r.bookings)+1), CarID: c.ID, Days: a.Days, TotalEUR: c.PricePerDay * a.Days}
			r.bookings = append(r.bookings, b)
			return b, nil
		})
	if err != nil {
		return nil, err
	}
	return []tool.Tool{search, quote, book}, nil
}

// all returns the bookings made so far.
func (r *rentals) all() []booking {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]booking(nil), r.bookings...)
}

func findCar(id string) (car, error) {
	for _, c := range fleet {
		if c.ID == id {
			return c, nil
		}
	}
	return car{}, fmt.Errorf("no car has id %q: use an id that cars:search returned", id)
}
