/**
 * Entry: mounts the owner's app, or at /share the shared view (its own file, loaded on
 * demand: a third party never needs the sign-in or the settings).
 */
import { render } from 'preact'
import { App } from './app.js'
import { interceptLinks } from './router.js'
import './styles.css'

interceptLinks()
const root = document.getElementById('app')
const path = window.location.pathname
if (root !== null) {
  if (path === '/share' || path.startsWith('/share/')) {
    import('./share/share-app.js').then(
      ({ ShareApp }) => render(<ShareApp />, root),
      () => {
        root.textContent = 'The report could not be loaded. Check the connection and reload.'
      },
    )
  } else render(<App />, root)
}
