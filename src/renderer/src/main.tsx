import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { createApi, defaultTransport } from './api/client';
import './styles.css';

const transport = defaultTransport();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App api={createApi(transport)} transport={transport} />
  </StrictMode>,
);
