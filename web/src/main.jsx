import { render } from 'preact';
import { App } from './app.jsx';
import { initSession } from './api.js';
import { startRouter } from './router.js';
import './styles.css';

startRouter();
initSession();
render(<App />, document.getElementById('app'));
