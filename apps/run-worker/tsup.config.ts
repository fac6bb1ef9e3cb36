import { appConfig } from '@runstream/tsup-config';

export default appConfig();
