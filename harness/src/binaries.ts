import path from 'node:path';
import { projectRoot } from '../../relay/src/api.js';

export const GEN_BIN = path.join(projectRoot, 'build', 'Release', 'mcr-gen');
export const SINK_BIN = path.join(projectRoot, 'build', 'Release', 'mcr-sink');
