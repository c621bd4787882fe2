// perch.ar.js: Arabic for the script-tag bundle.
import { catalogue } from '@perch/elements/locales/ar';
import { announceLocale } from './locale-script.js';

announceLocale(catalogue);
