package tablestore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// Azure is a Store backed by Azure Table Storage (or Azurite) through
// aztables. Tables are created on first write. Every request is checked
// against the same rules as Embedded before it is sent.
type Azure struct {
	svc     *aztables.ServiceClient
	mu      sync.Mutex
	created map[string]bool // tables known to exist, by lower-case name
}

// NewAzure connects with a storage connection string (account key or SAS).
// The development shortcut UseDevelopmentStorage=true is not understood by the
// SDK; give Azurite's full connection string.
func NewAzure(connString string) (*Azure, error) {
	svc, err := aztables.NewServiceClientFromConnectionString(connString, clientOptions())
	if err != nil {
		return nil, fmt.Errorf("tablestore: connection string: %w", err)
	}
	return &Azure{svc: svc, created: map[string]bool{}}, nil
}

// NewAzureWithCredential connects to serviceURL (https://<account>.table.core.windows.net)
// with an Entra ID credential, such as a managed identity.
func NewAzureWithCredential(serviceURL string, cred azcore.TokenCredential) (*Azure, error) {
	svc, err := aztables.NewServiceClient(serviceURL, cred, clientOptions())
	if err != nil {
		return nil, fmt.Errorf("tablestore: service %s: %w", serviceURL, err)
	}
	return &Azure{svc: svc, created: map[string]bool{}}, nil
}

func clientOptions() *aztables.ClientOptions {
	return &aztables.ClientOptions{ClientOptions: azcore.ClientOptions{
		PerCallPolicies: []policy.Policy{captureBodyPolicy{}},
	}}
}

// captured receives the final response of a request whose context carries it.
type captured struct {
	status      int
	contentType string
	body        []byte
}

type captureKey struct{}

// withCapture returns a context under which captureBodyPolicy records the
// response body into c.
func withCapture(ctx context.Context, c *captured) context.Context {
	return context.WithValue(ctx, captureKey{}, c)
}

// captureBodyPolicy keeps a copy of the raw response body for requests that
// ask for it, because aztables loses information on the way: it discards the
// per-operation ETags and statuses of a batch and re-encodes numbers.
type captureBodyPolicy struct{}

func (captureBodyPolicy) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	c, ok := req.Raw().Context().Value(captureKey{}).(*captured)
	if err != nil || !ok || resp == nil || resp.Body == nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	c.status, c.contentType, c.body = resp.StatusCode, resp.Header.Get("Content-Type"), body
	return resp, nil
}

// classify maps a service error to the package's error classes by status.
func classify(err error) error {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return err
	}
	var class error
	switch re.StatusCode {
	case http.StatusNotFound:
		class = ErrNotFound
	case http.StatusConflict:
		if re.ErrorCode == "EntityAlreadyExists" || re.ErrorCode == "" {
			class = ErrExists
		}
	case http.StatusPreconditionFailed:
		class = ErrPrecondition
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		class = ErrInvalid
	}
	if class == nil {
		return fmt.Errorf("table service answered %d %s: %w", re.StatusCode, re.ErrorCode, err)
	}
	// The service's verbose message adds nothing the caller can act on.
	return fmt.Errorf("%w (service answered %d %s)", class, re.StatusCode, re.ErrorCode)
}

func isTableNotFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.ErrorCode == string(aztables.TableNotFound)
}

// ensureTable creates a table once per process; a table someone else created
// (409 TableAlreadyExists) is fine.
func (s *Azure) ensureTable(ctx context.Context, table string) error {
	key := strings.ToLower(table)
	s.mu.Lock()
	done := s.created[key]
	s.mu.Unlock()
	if done {
		return nil
	}
	_, err := s.svc.CreateTable(ctx, table, nil)
	var re *azcore.ResponseError
	if err != nil && !(errors.As(err, &re) && re.ErrorCode == string(aztables.TableAlreadyExists)) {
		return fmt.Errorf("tablestore: create table %s: %w", table, err)
	}
	s.mu.Lock()
	s.created[key] = true
	s.mu.Unlock()
	return nil
}

func (s *Azure) forget(table string) {
	s.mu.Lock()
	delete(s.created, strings.ToLower(table))
	s.mu.Unlock()
}

// write runs a write after making sure the table exists, and once more if the
// table vanished in between (deleted by someone else since it was cached).
func (s *Azure) write(ctx context.Context, table string, do func() error) error {
	for attempt := 0; ; attempt++ {
		if err := s.ensureTable(ctx, table); err != nil {
			return err
		}
		err := do()
		if attempt == 0 && isTableNotFound(err) {
			s.forget(table)
			continue
		}
		return err
	}
}

// Get reads one entity; ErrNotFound when absent.
func (s *Azure) Get(ctx context.Context, table, partitionKey, rowKey string) (Entity, error) {
	if err := validateTable(table); err != nil {
		return Entity{}, err
	}
	if err := validateKey("PartitionKey", partitionKey); err != nil {
		return Entity{}, err
	}
	if err := validateKey("RowKey", rowKey); err != nil {
		return Entity{}, err
	}
	var c captured
	resp, err := s.svc.NewClient(table).GetEntity(withCapture(ctx, &c), partitionKey, rowKey, nil)
	if err != nil {
		return Entity{}, fmt.Errorf("tablestore: get %s (%q, %q): %w", table, partitionKey, rowKey, classify(err))
	}
	e, err := unmarshalEntity(c.body)
	if err != nil {
		return Entity{}, err
	}
	if resp.ETag != "" {
		e.ETag = string(resp.ETag)
	}
	return e, nil
}

// Insert adds an entity that must not exist yet.
func (s *Azure) Insert(ctx context.Context, table string, e Entity) (string, error) {
	body, err := s.prepare(table, e)
	if err != nil {
		return "", err
	}
	var etag azcore.ETag
	err = s.write(ctx, table, func() error {
		resp, err := s.svc.NewClient(table).AddEntity(ctx, body, nil)
		etag = resp.ETag
		return err
	})
	if err != nil {
		return "", fmt.Errorf("tablestore: insert %s (%q, %q): %w", table, e.PartitionKey, e.RowKey, classify(err))
	}
	return string(etag), nil
}

// Upsert inserts or replaces an entity unconditionally.
func (s *Azure) Upsert(ctx context.Context, table string, e Entity) (string, error) {
	body, err := s.prepare(table, e)
	if err != nil {
		return "", err
	}
	var etag azcore.ETag
	err = s.write(ctx, table, func() error {
		resp, err := s.svc.NewClient(table).UpsertEntity(ctx, body, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace})
		etag = resp.ETag
		return err
	})
	if err != nil {
		return "", fmt.Errorf("tablestore: upsert %s (%q, %q): %w", table, e.PartitionKey, e.RowKey, classify(err))
	}
	return string(etag), nil
}

// Update replaces an existing entity when ifMatch equals its ETag ("*" for any).
func (s *Azure) Update(ctx context.Context, table string, e Entity, ifMatch string) (string, error) {
	if err := validateIfMatch(ifMatch); err != nil {
		return "", err
	}
	body, err := s.prepare(table, e)
	if err != nil {
		return "", err
	}
	cond := azcore.ETag(ifMatch)
	resp, err := s.svc.NewClient(table).UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{IfMatch: &cond, UpdateMode: aztables.UpdateModeReplace})
	if err != nil {
		return "", fmt.Errorf("tablestore: update %s (%q, %q): %w", table, e.PartitionKey, e.RowKey, classify(err))
	}
	return string(resp.ETag), nil
}

// Delete removes an entity when ifMatch equals its ETag ("*" for any).
func (s *Azure) Delete(ctx context.Context, table, partitionKey, rowKey, ifMatch string) error {
	if err := validateTable(table); err != nil {
		return err
	}
	if err := validateIfMatch(ifMatch); err != nil {
		return err
	}
	if err := validateKey("PartitionKey", partitionKey); err != nil {
		return err
	}
	if err := validateKey("RowKey", rowKey); err != nil {
		return err
	}
	cond := azcore.ETag(ifMatch)
	if _, err := s.svc.NewClient(table).DeleteEntity(ctx, partitionKey, rowKey, &aztables.DeleteEntityOptions{IfMatch: &cond}); err != nil {
		return fmt.Errorf("tablestore: delete %s (%q, %q): %w", table, partitionKey, rowKey, classify(err))
	}
	return nil
}

// prepare validates and serializes an entity for a single write.
func (s *Azure) prepare(table string, e Entity) ([]byte, error) {
	if err := validateTable(table); err != nil {
		return nil, err
	}
	n, err := normalizeEntity(e)
	if err != nil {
		return nil, err
	}
	return marshalEntity(n)
}

// batchActions maps operations to aztables transaction actions.
func batchActions(ops []Op) ([]aztables.TransactionAction, error) {
	actions := make([]aztables.TransactionAction, len(ops))
	for i, op := range ops {
		body, err := marshalEntity(op.Entity)
		if err != nil {
			return nil, err
		}
		a := aztables.TransactionAction{Entity: body}
		switch op.Kind {
		case OpInsert:
			a.ActionType = aztables.TransactionTypeAdd
		case OpUpsert:
			a.ActionType = aztables.TransactionTypeInsertReplace
		case OpMerge:
			a.ActionType = aztables.TransactionTypeInsertMerge
		case OpUpdate, OpDelete:
			a.ActionType = aztables.TransactionTypeUpdateReplace
			if op.Kind == OpDelete {
				a.ActionType = aztables.TransactionTypeDelete
			}
			cond := azcore.ETag(op.Entity.ETag)
			a.IfMatch = &cond
		}
		actions[i] = a
	}
	return actions, nil
}

// Batch applies up to 100 operations on one partition as one entity group
// transaction. The rules are checked here first: Azurite accepts mixed
// partition keys, Azure does not.
func (s *Azure) Batch(ctx context.Context, table string, ops []Op) ([]string, error) {
	if err := validateTable(table); err != nil {
		return nil, err
	}
	ops, err := normalizeBatch(ops)
	if err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		return []string{}, nil
	}
	actions, err := batchActions(ops)
	if err != nil {
		return nil, err
	}
	var c captured
	err = s.write(ctx, table, func() error {
		c = captured{}
		_, err := s.svc.NewClient(table).SubmitTransaction(withCapture(ctx, &c), actions, nil)
		if c.status == http.StatusAccepted {
			// The status of the whole batch is 202 either way; the outcome
			// is in the parts. A vanished table shows up as a failed part.
			subs, perr := parseBatchResponse(c.contentType, c.body)
			if perr == nil && len(subs) == 1 && subs[0].Code == string(aztables.TableNotFound) {
				return &azcore.ResponseError{StatusCode: http.StatusNotFound, ErrorCode: subs[0].Code}
			}
		}
		return err
	})
	if c.status != http.StatusAccepted {
		if err == nil {
			err = fmt.Errorf("unexpected status %d", c.status)
		}
		return nil, fmt.Errorf("tablestore: batch on %s: %w", table, classify(err))
	}
	subs, perr := parseBatchResponse(c.contentType, c.body)
	if perr != nil {
		return nil, fmt.Errorf("tablestore: batch on %s: %w", table, perr)
	}
	for _, sub := range subs {
		if sub.Status >= 400 {
			return nil, batchFailure(sub, len(ops))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("tablestore: batch on %s: %w", table, classify(err))
	}
	if len(subs) != len(ops) {
		return nil, fmt.Errorf("tablestore: batch on %s: %d answers for %d operations", table, len(subs), len(ops))
	}
	etags := make([]string, len(ops))
	for i, sub := range subs {
		if ops[i].Kind != OpDelete {
			etags[i] = sub.ETag
		}
	}
	return etags, nil
}

// batchFailure turns the failed part of a batch into a *BatchError.
func batchFailure(sub subResponse, n int) error {
	class := classify(&azcore.ResponseError{StatusCode: sub.Status, ErrorCode: sub.Code})
	if !errors.Is(class, ErrNotFound) && !errors.Is(class, ErrExists) && !errors.Is(class, ErrPrecondition) && !errors.Is(class, ErrInvalid) {
		return fmt.Errorf("tablestore: batch failed: %d %s", sub.Status, sub.Code)
	}
	idx := sub.failedIndex()
	if idx < 0 || idx >= n {
		idx = 0
	}
	return &BatchError{Index: idx, Err: class}
}

// Query returns one page of entities in key order.
func (s *Azure) Query(ctx context.Context, table string, q Query) (Page, error) {
	if err := validateTable(table); err != nil {
		return Page{}, err
	}
	limit, err := validateQuery(q)
	if err != nil {
		return Page{}, err
	}
	top := int32(limit)
	opts := &aztables.ListEntitiesOptions{Top: &top}
	var conds []string
	if q.PartitionKey != "" {
		conds = append(conds, "PartitionKey eq "+odataString(q.PartitionKey))
	}
	if q.RowKeyFrom != "" {
		conds = append(conds, "RowKey ge "+odataString(q.RowKeyFrom))
	}
	if q.RowKeyTo != "" {
		conds = append(conds, "RowKey lt "+odataString(q.RowKeyTo))
	}
	if len(conds) > 0 {
		f := strings.Join(conds, " and ")
		opts.Filter = &f
	}
	if q.Continuation != "" {
		pk, rk, err := decodeCursor(q.Continuation)
		if err != nil {
			return Page{}, err
		}
		opts.NextPartitionKey, opts.NextRowKey = &pk, &rk
	}
	var c captured
	resp, err := s.svc.NewClient(table).NewListEntitiesPager(opts).NextPage(withCapture(ctx, &c))
	if isTableNotFound(err) {
		// Tables exist from first use on; a table nobody wrote is empty.
		return Page{Entities: []Entity{}}, nil
	}
	if err != nil {
		return Page{}, fmt.Errorf("tablestore: query %s: %w", table, classify(err))
	}
	var body queryBody
	if err := json.Unmarshal(c.body, &body); err != nil {
		return Page{}, fmt.Errorf("tablestore: query %s: response: %w", table, err)
	}
	page := Page{Entities: make([]Entity, 0, len(body.Value))}
	for _, raw := range body.Value {
		e, err := unmarshalEntity(raw)
		if err != nil {
			return Page{}, fmt.Errorf("tablestore: query %s: %w", table, err)
		}
		page.Entities = append(page.Entities, e)
	}
	npk, nrk := deref(resp.NextPartitionKey), deref(resp.NextRowKey)
	if npk != "" || nrk != "" {
		page.Continuation = encodeCursor(npk, nrk)
	}
	return page, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// odataString quotes a string literal for a $filter expression.
func odataString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// DeleteTable drops a table; no error when absent.
func (s *Azure) DeleteTable(ctx context.Context, table string) error {
	if err := validateTable(table); err != nil {
		return err
	}
	s.forget(table)
	_, err := s.svc.DeleteTable(ctx, table, nil)
	if err != nil && !errors.Is(classify(err), ErrNotFound) {
		return fmt.Errorf("tablestore: delete table %s: %w", table, classify(err))
	}
	return nil
}

var _ Store = (*Azure)(nil)
