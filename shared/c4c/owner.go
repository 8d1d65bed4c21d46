package c4c

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// Per-user scoping. Each crmsync user syncs the records their own C4C
// employee owns: contacts by ContactOwnerID (the owner's employee ID),
// tasks by ProcessorPartyID and appointments by OwnerPartyID (the owner's
// business partner ID). The employee is found once, by the user's e-mail
// address in EmployeeCollection, and kept as identifiers only.

// Employee is a user's C4C employee as crmsync keeps it: identifiers only.
type Employee struct {
	// EmployeeID is the employee's ID (ContactOwnerID of the contacts it owns).
	EmployeeID string
	// PartyID is the employee's business partner ID (ProcessorPartyID of
	// tasks, OwnerPartyID of appointments).
	PartyID string
}

// ErrNoEmployee is FindEmployee's answer when no employee, or more than
// one, has the address.
var ErrNoEmployee = errors.New("no single SAP Cloud for Customer employee has the user's e-mail address")

// FindEmployee looks the employee with e-mail address up (one call).
func FindEmployee(ctx context.Context, c *Client, address string) (Employee, error) {
	address = strings.TrimSpace(address)
	if address == "" {
		return Employee{}, fault.New(fault.Permanent, "no_address", "the user has no e-mail address to find their C4C employee by")
	}
	// The address as given and in lower case (C4C compares strings as
	// stored; "or" on one property is allowed).
	filter := "Email eq " + Quote(address)
	if low := strings.ToLower(address); low != address {
		filter += " or Email eq " + Quote(low)
	}
	q := url.Values{"$filter": {filter}, "$select": {"ObjectID,EmployeeID,BusinessPartnerID"}, "$top": {"2"}}
	var found []Employee
	if err := c.List(ctx, "EmployeeCollection", q, func(e Entity) error {
		found = append(found, Employee{EmployeeID: e.String("EmployeeID"), PartyID: e.String("BusinessPartnerID")})
		return nil
	}); err != nil {
		return Employee{}, err
	}
	if len(found) != 1 || found[0].EmployeeID == "" || found[0].PartyID == "" {
		return Employee{}, fault.Wrap(fault.Permanent, fmt.Errorf("%w (%d found): crmsync syncs each user's own records, so an admin gives the user's employee that address in C4C", ErrNoEmployee, len(found)))
	}
	return found[0], nil
}

// EmployeeTable holds each user's employee identifiers (PerUser).
const EmployeeTable = "c4cemployee"

const employeeRow = "employee"

// Employees keeps users' employees in EmployeeTable.
type Employees struct{ Tables tablestore.Store }

// Get returns the stored employee of user (ok false when none).
func (es Employees) Get(ctx context.Context, user string) (Employee, bool, error) {
	e, err := es.Tables.Get(ctx, EmployeeTable, user, employeeRow)
	if errors.Is(err, tablestore.ErrNotFound) {
		return Employee{}, false, nil
	}
	if err != nil {
		return Employee{}, false, err
	}
	id, _ := e.Properties["EmployeeID"].(string)
	party, _ := e.Properties["PartyID"].(string)
	return Employee{EmployeeID: id, PartyID: party}, id != "" && party != "", nil
}

// Put stores user's employee.
func (es Employees) Put(ctx context.Context, user string, emp Employee) error {
	_, err := es.Tables.Upsert(ctx, EmployeeTable, tablestore.Entity{PartitionKey: user, RowKey: employeeRow,
		Properties: map[string]any{"EmployeeID": emp.EmployeeID, "PartyID": emp.PartyID}})
	return err
}

// MatchEmployee finds user's employee with the user's stored connection and
// keeps it: called when the user connects C4C, and by the opener for a
// user who has none stored yet.
func (o *Opener) MatchEmployee(ctx context.Context, conns *connection.Store, user string) (Employee, error) {
	if o.Email == nil {
		return Employee{}, errors.New("c4c: the opener has no Email to find employees by")
	}
	c, err := conns.Get(ctx, user, Provider)
	if err != nil {
		return Employee{}, err
	}
	client, err := o.client(ctx, conns, c)
	if err != nil {
		return Employee{}, err
	}
	return o.matchWith(ctx, client, user)
}

func (o *Opener) matchWith(ctx context.Context, client *Client, user string) (Employee, error) {
	address, err := o.Email(ctx, user)
	if err != nil {
		return Employee{}, err
	}
	emp, err := FindEmployee(ctx, client, address)
	if err != nil {
		return Employee{}, err
	}
	if err := (Employees{Tables: o.Tables}).Put(ctx, user, emp); err != nil {
		return Employee{}, err
	}
	return emp, nil
}

// employee returns user's stored employee, matching it first when none is
// stored.
func (o *Opener) employee(ctx context.Context, client *Client, user string) (Employee, error) {
	emp, ok, err := (Employees{Tables: o.Tables}).Get(ctx, user)
	if err != nil || ok {
		return emp, err
	}
	return o.matchWith(ctx, client, user)
}
