package share

import "errors"

// ErrCreatorGone: the share's creator no longer exists (the user was
// deleted, or the account), so the share no longer works.
var ErrCreatorGone = errors.New("share: creator gone")

// Message returns the words a refused request made with a share is
// answered with (403 AccessDenied) for the state errors ErrRevoked,
// ErrExpired, ErrUsedUp and ErrCreatorGone, and "" for any other error.
func Message(err error) string {
	switch {
	case errors.Is(err, ErrRevoked):
		return "This share link was revoked."
	case errors.Is(err, ErrExpired):
		return "This share link has expired."
	case errors.Is(err, ErrUsedUp):
		return "This share link has been used the maximum number of times."
	case errors.Is(err, ErrCreatorGone):
		return "The creator of this share link no longer exists."
	}
	return ""
}

// StateError returns the error of a share that is not active at the time
// its state was read (ErrRevoked, ErrExpired or ErrUsedUp), nil while it
// is active.
func StateError(state string) error {
	switch state {
	case StateRevoked:
		return ErrRevoked
	case StateExpired:
		return ErrExpired
	case StateUsedUp:
		return ErrUsedUp
	}
	return nil
}
