#!/usr/bin/env node
'use strict';
// The `agentsec` command: TypeScript sources run through tsx (DESIGN §10, package.json `bin`).
require('tsx/cjs');
require('../cli/main.ts').main(process.argv);
