package jail

// Banned returns k's active ban, if any: the fleet asks before it bans, so
// that it never replaces a ban of the jail's own.
func (j *Counter) Banned(k Key) (Ban, bool) {
	b, ok := j.bans.byKey[canonical(k)]
	if !ok {
		return Ban{}, false
	}
	return b.Ban, true
}
