#!/usr/bin/env -S node --
// Installed entry point: runs the built CLI in this same process, so signals reach the service directly.
// The `--` keeps Node 20 from taking the CLI's own `--env-file` option for its own (nodejs/node#54232).
import '../dist/cli.js';
