package patchwave

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in the API.
const (
	EInvalid      = "invalid"       // bad input: 400
	EUnauthorized = "unauthorized"  // no or bad credential: 401
	EForbidden    = "forbidden"     // credential lacks the right: 403
	ENotFound     = "not_found"     // 404
	EConflict     = "conflict"      // already exists, or changed meanwhile: 409
	ETooLarge     = "too_large"     // request body over the limit: 413
	ETooMany      = "too_many"      // rate limited: 429
	EUnavailable  = "unavailable"   // not ready, try again: 503
	EInternal     = "internal"      // a bug or a broken dependency: 500
	ENotSupported = "not_supported" // 501
)

// Error is an error with a code and a message fit to show a user.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal
// for any other error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the message of the first *Error in err's chain, and
// "internal error" for any other error: internal details are for the log.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// HTTPStatus is the HTTP status that answers an error with this code. The
// numbers are written out so that this package needs no net/http.
func HTTPStatus(code string) int {
	switch code {
	case EInvalid:
		return 400
	case EUnauthorized:
		return 401
	case EForbidden:
		return 403
	case ENotFound:
		return 404
	case EConflict:
		return 409
	case ETooLarge:
		return 413
	case ETooMany:
		return 429
	case EUnavailable:
		return 503
	case ENotSupported:
		return 501
	}
	return 500
}
