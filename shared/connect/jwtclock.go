package connect

import "time"

// WithClock makes s sign its assertions at now's time instead of the
// system's (a simulated clock, as the local Salesforce's in tests) and
// returns s. Call it before the first Token.
func (s *JWTSource) WithClock(now func() time.Time) *JWTSource {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
	return s
}
