#!/usr/bin/env node
import '../dist/relay/src/cli/mcrd.js';
