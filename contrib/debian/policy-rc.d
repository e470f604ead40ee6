#!/bin/sh
# policy-rc.d for a machine tend runs: invoke-rc.d (what a Debian package's postinst
# and prerm call) asks it before running an init script. For a name a running tend
# server manages, the action is carried out through tend here (tend-rc), and the
# answer is 101 ("do not run it"; 102 when tend failed to) so that invoke-rc.d does not run the script behind
# tend's back (it says "policy-rc.d denied execution of …": tend did it). Any other
# name: 0, allowed. Install (root): see docs/debian.md. For image builds, where
# nothing may start, use policy-rc.d.deny instead.
# Called as: policy-rc.d [--quiet] NAME "ACTION…" [RUNLEVEL]

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}

while [ $# -gt 0 ]; do
  case $1 in
    --quiet) shift ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || exit 0
name=$1
# invoke-rc.d passes its fallback actions too ("restart start"), in parentheses when
# it cannot tell the runlevel ("(restart)"): the first is the one. What this prints on
# stdout invoke-rc.d reads as fallback actions: tend's output goes to stderr.
set -- $2
action=${1#(}
action=${action%)}
tend-rc "$name" "$action" >&2
rc=$?
[ "$rc" -eq 100 ] && exit 0
[ "$rc" -eq 0 ] && exit 101
# 102, a subsystem error: invoke-rc.d fails as it would with a failing init script.
echo "policy-rc.d: tend could not $action $name (status $rc)" >&2
exit 102
