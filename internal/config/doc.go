// Package config loads peerjail's YAML configuration, applies defaults,
// validates it strictly and points every problem at its line and column.
//
// The schema (configs/peerjail.yaml is an annotated example):
//
//	include: [/etc/peerjail/jails.d/*.yaml]  # globs, relative ones from this file's directory; see below
//	defaults:                 # every jail key except filter and source
//	  findtime: 10m
//	  maxretry: 5
//	  bantime: 1h
//	filters:                  # operator-defined filters; a jail names one of these or a stock filter
//	  my-regex:               # name: letters, digits, _ . -; replaces a stock filter of the same name
//	    description: one line
//	    regex:
//	      fail: ['^<PREFIX>Failed login from <HOST>']  # one string or a list; each has one <HOST> or <ID> or one of each
//	                                      # (<ID> is blamed when <HOST> is a relayed libp2p address); a leading
//	                                      # <PREFIX> or <PREFIX:prog|prog2> stands for any syslog/journalctl prefix
//	      ignore: ['from <HOST> port 22 trusted']  # optional
//	  my-json:
//	    json:
//	      prefix: '<PREFIX>'             # optional: any syslog/journalctl prefix, or a regex, stripped before the JSON
//	      match:                         # field path -> condition, all must hold
//	        suspicious: true             # scalar: equals (true also matches "true")
//	        level: [warn, error]         # list: one of
//	        message: {regex: '^potential'}
//	        remote_address: {exists: true}
//	        journal._SYSTEMD_UNIT: flow.service
//	      host: remote_address           # and/or id: peer_id (or [peer_id, origin_id]), used when host is absent or relayed
//	      time: time                     # optional
//	heartbeat:                # optional dead-man switch, main file only: see below
//	  url: https://hc-ping.com/UUID   # requested while healthy; URL/fail when not
//	  interval: 1m            # default 1m
//	  timeout: 10s            # default 10s (at most interval)
//	  method: GET             # GET (default) | POST (the body says why on /fail)
//	  quiet: 2h               # optional: a jail that read no line for this long is unhealthy
//	jails:
//	  libp2p:                 # name: ^[a-z][a-z0-9_-]{0,23}$ (it becomes nftables set names)
//	    enabled: true         # default true; disabled jails are checked but not run
//	    filter: libp2p-peer-status
//	    source:               # exactly one of files and journal
//	      files: [/var/log/ipfs/*.log]  # globs, relative ones from the config's directory
//	      # journal: {match: [_SYSTEMD_UNIT=ipfs.service, SYSLOG_IDENTIFIER=ipfs]}  # FIELD=value, ORed
//	    findtime: 3m          # default 10m
//	    maxretry: 90          # default 5; 1..1000000
//	    bantime: 1h           # default 1h
//	    bantime_increment: {factor: 2, maxtime: 1w}  # default none; factor 1..1000 (default 2), maxtime default 1w
//	    ignoreip: [127.0.0.1/8, '::1', 10.0.0.0/8]  # default [127.0.0.0/8, ::1]; replaces, not adds; quote '::1' in [ ]
//	    ignoreself: true      # default true: never ban this host's own addresses
//	    ipv6_prefix: 64       # default 64; 1..128: IPv6 hosts are counted and banned by this prefix
//	    maxhosts: 1000000     # default 1000000: hosts tracked at once
//	    ipv6_escalation:      # optional (also under defaults): widen IPv6 bans
//	      start: 128          # default ipv6_prefix, which it replaces: the length bans start at
//	      steps: [64, 48]     # required; strictly decreasing, each below start
//	      after: 3            # default 3, at least 2: distinct bans inside one prefix of the next step ...
//	      within: 1h          # default 1h: ... within this long make the next ban there cover the prefix
//	    ports: [4001, "30000-30100"]  # default empty = all ports
//	    protocol: tcp         # tcp | udp | all (default all)
//	    action: nftables      # shorthand for actions: [nftables]; nftables (default) | dry-run
//	    actions:              # instead of action: (both is an error); each type takes only its own keys
//	      - {type: nftables}  # addresses and prefixes (an identity's correlated addresses too); no options
//	      - {type: flow-admin, url: 'http://127.0.0.1:9002', allow_remote: false, timeout: 5s, retries: 0, queue: 10000}
//	      - {type: webhook, url: 'https://example.org/hook', timeout: 5s, retries: 5, queue: 10000,
//	         template: '{"text": "ban {{.Key}}"}', headers: {Authorization: Bearer x}}
//	      - {type: exec, ban: [/usr/sbin/ufw, deny, from, '{key}'], unban: [...], timeout: 5s, retries: 5, concurrency: 4, queue: 10000}
//	      - {type: dry-run}   # only logs; not together with nftables
//	    datepattern: iso8601  # optional: how to find the time in a line
//	    max_clock_skew: 1m    # default 1m: a live line stamped further ahead, or older than findtime, counts at its read time
//	    fleet: {quorum: 2, window: 10m, bantime: 1h, need_local_hit: false}  # needs fleet:; quorum 1..1000, window default 10m (at most 1d), bantime default the jail's
//	  recidive:
//	    type: recidive        # counts the bans of other jails instead of log lines; no filter, source,
//	                          # datepattern, max_clock_skew, ports or protocol (it bans on all ports)
//	    jails: [libp2p, sshd] # default every jail that is not a recidive jail; never its own bans
//	    findtime: 1d          # a recidive jail's own defaults: findtime 1d, maxretry 5, bantime 1w
//	audit: {enabled: true, max_size: 100MB, keep: 5}  # the audit trail, <state dir>/audit.jsonl; these are the defaults
//	fleet:                    # optional: share bans over NATS JetStream (docs/fleet.md)
//	  servers: [nats://127.0.0.1:4222]  # nats:// or tls://, no credentials in the URL
//	  creds: /etc/peerjail/fleet.creds  # or nkey: a seed file; relative paths from the config's directory
//	  reporter: host-a        # this host's NATS user, the subject token; default the short host name
//	  tls: {ca: ca.pem, cert: host.pem, key: host-key.pem}  # optional; cert and key together
//	  stream: PEERJAIL        # default PEERJAIL
//	  subject: peerjail.reports  # default; reports go to <subject>.<reporter>.<jail>
//	  replicas: 3             # default 1; 1..5, when peerjail creates the stream
//	  publish: [libp2p]       # jails whose local decisions are shared; each must be a jail
//
// Actions: a flow-admin url must be http(s) on loopback (127.0.0.0/8, ::1,
// localhost) unless allow_remote: true, since a Flow node's admin port must
// stay on localhost. An exec program must be an absolute path: it runs
// without a shell and PATH is not searched at load or at run time, since the
// service manager's PATH is not the shell's, and what `peerjail check`
// accepts must be what the daemon runs (the config does not look for the
// file: a config is checked on other hosts too); a {word} in an argument
// must be one of ExecPlaceholders. A webhook template must parse as a
// text/template calling only its own functions and WebhookTemplateFuncs.
// retries: 0 means until it works (the default of flow-admin); a jail's
// actions have distinct ActionSpec.Key values (two webhooks need two URLs).
//
// Durations are Go durations plus days and weeks: 30s, 10m, 1h30m, 1d, 1w,
// 2d12h; all must be positive. A jail's key overrides the same key under
// defaults, which overrides the built-in default; lists are replaced whole.
//
// include: names more files, only in the main file (one level: an included
// file cannot include). Each glob's matches are read in sorted order, the
// globs in the order given, a file matched twice once. A glob may match
// nothing; a plain path must exist; a match that is not a regular file, or
// is the main file, is a mistake. An included file holds jails: and
// filters: only: its jails inherit the main file's defaults, its relative
// source globs are taken from its own directory, and a jail or filter name
// is defined in one file only, across all of them. Filters of every file
// are seen by the jails of every file. Jails run in order: the main file's,
// then each included file's. The size limits (4 MiB, 2^20 nodes) hold for
// all files together.
//
// heartbeat: is the healthchecks.io protocol: the daemon requests url every
// interval while it is healthy (it counts, nftables works, no ban is
// pending, and with quiet every jail read a line within it) and url/fail
// when it is not. A daemon that is down or wedged sends nothing, which is
// what the monitor alerts on.
//
// Problems read `FILE:LINE:COL: jail "x": key: what is wrong (e.g. a right
// value)`, FILE being the file the problem is in (the included file's path
// as matched). All of them are reported at once, file by file, one per
// line, and every one matches ErrInvalid; an included file that cannot be
// read is an I/O error instead, as the main file is.
package config
