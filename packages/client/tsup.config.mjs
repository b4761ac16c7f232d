// dist/: ESM and CommonJS bundles with their type declarations (see scripts/tsup-library.mjs).
import { libraryConfig } from '../../scripts/tsup-library.mjs';

export default libraryConfig();
