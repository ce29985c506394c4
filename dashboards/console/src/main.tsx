import { render } from 'preact';
import { App } from './app.js';
import { loadExponents } from './money.js';
import { loadSignInConfig } from './session.js';

// The exponent table first, so no amount is ever shown before its currency's minor units are known.
const [signInConfig] = await Promise.all([loadSignInConfig(), loadExponents()]);
render(<App signInConfig={signInConfig} />, document.getElementById('root')!);
