// Package session runs one user's sync session: it takes the user's lease,
// opens both sides (shared/side), reads what changed, asks the reconcile
// planner what to do, applies the plan in batches and commits state as it
// goes.
package session
