//go:build !unix

package gitstore

// pidGone cannot tell here: a lock goes stale by its age alone.
func pidGone(int) bool { return false }
