import { libraryConfig } from '@runstream/tsup-config';

export default libraryConfig(['src/index.ts']);
