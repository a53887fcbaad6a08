#!/usr/bin/env node
// Installed entry point: runs the built CLI in this same process, so signals reach the service directly.
import '../dist/cli.js';
