package tablestore

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// storedValue is one property in the embedded store's JSON column. The type
// tag keeps int64 apart from float64 and []byte apart from string, and numbers
// travel as strings so no JSON decoder can round them.
type storedValue struct {
	T string `json:"t"`
	V string `json:"v"`
}

const (
	tagString = "s"
	tagInt64  = "i"
	tagDouble = "d"
	tagBool   = "b"
	tagBinary = "x"
	tagTime   = "t"
)

// encodeProps serializes normalized properties (see normalizeEntity).
func encodeProps(props map[string]any) (string, error) {
	out := make(map[string]storedValue, len(props))
	for name, v := range props {
		var sv storedValue
		switch v := v.(type) {
		case string:
			sv = storedValue{tagString, v}
		case int64:
			sv = storedValue{tagInt64, strconv.FormatInt(v, 10)}
		case float64:
			sv = storedValue{tagDouble, strconv.FormatFloat(v, 'g', -1, 64)}
		case bool:
			sv = storedValue{tagBool, strconv.FormatBool(v)}
		case []byte:
			sv = storedValue{tagBinary, base64.StdEncoding.EncodeToString(v)}
		case time.Time:
			sv = storedValue{tagTime, v.UTC().Format(time.RFC3339Nano)}
		default:
			return "", fmt.Errorf("%w: property %q has unsupported type %T", ErrInvalid, name, v)
		}
		out[name] = sv
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// decodeProps reverses encodeProps.
func decodeProps(raw string) (map[string]any, error) {
	var in map[string]storedValue
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		return nil, fmt.Errorf("stored properties: %w", err)
	}
	props := make(map[string]any, len(in))
	for name, sv := range in {
		var (
			v   any
			err error
		)
		switch sv.T {
		case tagString:
			v = sv.V
		case tagInt64:
			v, err = strconv.ParseInt(sv.V, 10, 64)
		case tagDouble:
			v, err = strconv.ParseFloat(sv.V, 64)
		case tagBool:
			v, err = strconv.ParseBool(sv.V)
		case tagBinary:
			v, err = base64.StdEncoding.DecodeString(sv.V)
		case tagTime:
			v, err = time.Parse(time.RFC3339Nano, sv.V)
		default:
			err = fmt.Errorf("unknown type tag %q", sv.T)
		}
		if err != nil {
			return nil, fmt.Errorf("stored property %q: %w", name, err)
		}
		props[name] = v
	}
	return props, nil
}
