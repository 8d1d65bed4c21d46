package queue

import (
	"fmt"
	"time"
)

// Limits of Azure Storage Queues, enforced by both implementations.
const (
	// MaxBodySize is the largest body Enqueue accepts: 64 KiB of base64 text
	// on the wire carries 48 KiB of raw bytes.
	MaxBodySize = 48 << 10
	// MaxBatch is the most messages one Dequeue returns.
	MaxBatch = 32
	// MaxVisibility bounds delays and visibility timeouts.
	MaxVisibility = 7 * 24 * time.Hour
	// MessageTTL is how long a message lives before it expires unreceived,
	// Azure's default.
	MessageTTL = 7 * 24 * time.Hour
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// ValidateName checks a queue name against Azure's rules: 3–63 characters,
// lowercase letters, digits and single hyphens, starting and ending with a
// letter or digit.
func ValidateName(name string) error {
	if len(name) < 3 || len(name) > 63 {
		return invalid("queue name %q must be 3 to 63 characters", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-':
			if i == 0 || i == len(name)-1 || name[i-1] == '-' {
				return invalid("queue name %q: hyphens must sit between letters or digits, one at a time", name)
			}
		default:
			return invalid("queue name %q may hold only lowercase letters, digits and hyphens", name)
		}
	}
	return nil
}

// seconds rounds a duration up to whole seconds, the service's granularity;
// both implementations round the same way so they behave alike.
func seconds(d time.Duration) int32 {
	return int32((d + time.Second - 1) / time.Second)
}

func validateDuration(what string, d, min time.Duration) error {
	if d < min || d > MaxVisibility {
		return invalid("%s %s is outside %s..7 days", what, d, min)
	}
	return nil
}

func validateEnqueue(queue string, body []byte, delay time.Duration) error {
	if err := ValidateName(queue); err != nil {
		return err
	}
	if len(body) > MaxBodySize {
		return invalid("message body is %d bytes, over the %d-byte limit", len(body), MaxBodySize)
	}
	return validateDuration("delay", delay, 0)
}

func validateDequeue(queue string, max int, visibility time.Duration) error {
	if err := ValidateName(queue); err != nil {
		return err
	}
	if max < 1 || max > MaxBatch {
		return invalid("dequeue of %d messages is outside 1..32", max)
	}
	return validateDuration("visibility timeout", visibility, time.Second)
}

func validateReceipt(queue, id, popReceipt string) error {
	if err := ValidateName(queue); err != nil {
		return err
	}
	if id == "" || popReceipt == "" {
		return invalid("message id and pop receipt are both required")
	}
	return nil
}
