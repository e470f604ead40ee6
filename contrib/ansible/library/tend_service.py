#!/usr/bin/python3
# -*- coding: utf-8 -*-
# An Ansible module for tend services: start, stop, restart, reload, enable and
# disable a service through the `tend` CLI of the managed host. Whether something
# changes is always the running server's answer to `--dry-run` (its engine's
# preview), never a guess of this module, so it is idempotent and check mode is
# exact: in check mode only the dry run is asked.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: tend_service
short_description: Manage services of the tend service manager
description:
  - Starts, stops, restarts or reloads a tend service and enables or disables it
    for the next C(tend boot), through the C(tend) command of the managed host.
  - Whether anything changes is the running server's answer to C(--dry-run), so a
    second run reports C(ok); check mode asks only that.
  - Needs a running tend server (C(tend boot) or C(tend daemon)).
options:
  name:
    description: The service (or bundle, or instance of a template such as C(getty@tty1)).
    required: true
    type: str
  state:
    description:
      - C(started) and C(stopped) change only what is not so already; C(restarted)
        always restarts (a service that is down is started); C(reloaded) reloads a
        service that is up and starts one that is not.
    choices: [started, stopped, restarted, reloaded]
    type: str
  enabled:
    description: Whether the next C(tend boot) brings the service up (C(tend enable) or C(tend disable)).
    type: bool
  root:
    description: Passed as C(--root), a private tend root (tests, a user's second instance).
    type: path
  tend:
    description: The tend command.
    type: str
    default: tend
author: tend contributors
"""

EXAMPLES = r"""
- name: web is up, and comes up at boot
  tend_service:
    name: web
    state: started
    enabled: true

- name: pick up the new configuration
  tend_service:
    name: web
    state: reloaded
"""

RETURN = r"""
status:
  description: The service as C(tend --json status NAME) describes it, after the change (before it, in check mode).
  returned: always
  type: dict
dry_run:
  description: What each command would have changed (C(--dry-run --json) of start, stop, restart, enable or disable), by command.
  returned: when a state or enabled was asked for
  type: dict
commands:
  description: The tend commands run (or, in check mode, that would have run).
  returned: always
  type: list
"""

import json

from ansible.module_utils.basic import AnsibleModule

# The LSB codes of `tend status NAME`: 0 up, 1 failed, 3 not up; each still prints the service.
STATUS_CODES = (0, 1, 3)
STATE_COMMAND = {"started": "start", "stopped": "stop", "restarted": "restart"}


class Tend(object):
    def __init__(self, module):
        self.module = module
        self.prefix = [module.params["tend"]]
        if module.params["root"]:
            self.prefix += ["--root", module.params["root"]]

    def json(self, args, ok_codes=(0,)):
        """`tend --json ARGS`, its output parsed; a failure ends the module with tend's own message."""
        cmd = self.prefix + ["--json"] + args
        rc, out, err = self.module.run_command(cmd)
        if rc not in ok_codes:
            self.module.fail_json(msg=(err.strip() or out.strip() or "tend exited with %d" % rc), rc=rc, cmd=cmd, stdout=out, stderr=err)
        try:
            return json.loads(out) if out.strip() else None
        except ValueError as e:
            self.module.fail_json(msg="tend printed what is not JSON: %s" % e, cmd=cmd, stdout=out, stderr=err)

    def status(self, name):
        data = self.json(["status", name], STATUS_CODES)
        services = (data or {}).get("services") or []
        if not services:
            self.module.fail_json(msg="tend status %s described no service" % name)
        # A bundle stands for its members: its first member is not it, so say so.
        if len(services) > 1 or services[0].get("name") != name:
            return {"members": services}
        return services[0]


def would_change(preview):
    return any(preview.get(k) for k in ("start", "stop", "restart", "enablement"))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["started", "stopped", "restarted", "reloaded"]),
            enabled=dict(type="bool"),
            root=dict(type="path"),
            tend=dict(type="str", default="tend"),
        ),
        required_one_of=[["state", "enabled"]],
        supports_check_mode=True,
    )
    name = module.params["name"]
    state = module.params["state"]
    enabled = module.params["enabled"]
    tend = Tend(module)
    result = dict(changed=False, name=name, commands=[], dry_run={})

    def change(command):
        """The command's dry run; when it would change something, the command itself (not in check mode)."""
        preview = tend.json([command, "--dry-run", name])
        result["dry_run"][command] = preview
        if not would_change(preview):
            return
        result["changed"] = True
        result["commands"].append([command, name])
        if not module.check_mode:
            tend.json([command, name])

    # Enabled first, as systemd's module does: on a booted server, enabling starts it.
    if enabled is not None:
        change("enable" if enabled else "disable")
    if state in STATE_COMMAND:
        change(STATE_COMMAND[state])
    elif state == "reloaded":
        current = tend.status(name)
        if current.get("phase") == "up":
            result["changed"] = True
            result["commands"].append(["reload", name])
            if not module.check_mode:
                tend.json(["reload", name])
        else:
            change("start")
    result["status"] = tend.status(name)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
