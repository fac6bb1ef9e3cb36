import { libraryConfig } from '@runstream/tsup-config';

export default libraryConfig(['src/index.ts', 'src/cli.ts'], { dts: { entry: 'src/index.ts' } });
