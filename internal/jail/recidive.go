package jail

import "time"

// AddKey counts one hit on k itself, as a recidive jail counts another
// jail's ban of k: no address to group, the key is what was banned. Like
// Add, a ban it makes starts at at, and line is kept as evidence. A key
// overlapping an ignored prefix or an own address is IgnoredHost: the jail's
// ignoreip protects what it says whichever jail banned it first.
func (j *Counter) AddKey(k Key, at time.Time, line []byte) (Decision, Verdict) {
	k = canonical(k)
	if !k.IsValid() {
		return Decision{}, InvalidHost
	}
	if _, ign := j.Ignores(k); ign {
		j.ignored++
		return Decision{}, IgnoredHost
	}
	var d Decision
	v := j.addKey(&d, k, 1, at, at, line)
	return d, v
}
