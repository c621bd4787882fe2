// perch.zh-Hans.js: Simplified Chinese for the script-tag bundle.
import { catalogue } from '@perch/elements/locales/zh-Hans';
import { announceLocale } from './locale-script.js';

announceLocale(catalogue);
