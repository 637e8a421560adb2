// docs.js — /docs: Swagger UI (npm swagger-ui-dist, served from vendor/) renders /openapi.yaml
// for reading. It runs under the UI's strict Content-Security-Policy as it is: no inline script
// or style, nothing from another origin (validatorUrl: null, or it would fetch a badge from
// validator.swagger.io).
/* global SwaggerUIBundle */

// The introduction sits outside Swagger UI's <main>: it gets a landmark of its own, so that
// every part of the page is in one. The operations get the heading level between the title
// (h1) and their tags (h3).
function structure(system) {
  const { React } = system;
  return {
    wrapComponents: {
      InfoContainer: (Original) => (props) => React.createElement('section', { 'aria-label': 'About this API' },
        React.createElement(Original, props)),
      operations: (Original) => (props) => React.createElement(React.Fragment, null,
        React.createElement('h2', { className: 'visually-hidden' }, 'Operations'),
        React.createElement(Original, props)),
    },
  };
}

// The examples picker of a response has no accessible name (its visible title is not its
// label): it is wrapped in a label that names it.
function namedExamplePickers(system) {
  const { React } = system;
  return {
    wrapComponents: {
      ExamplesSelect: (Original) => (props) => React.createElement('label', { className: 'examples-picker' },
        props.showLabels ? null : React.createElement('span', { className: 'visually-hidden' }, 'Example'),
        React.createElement(Original, props)),
    },
  };
}

SwaggerUIBundle({
  url: '/openapi.yaml',
  dom_id: '#swagger-ui',
  layout: 'BaseLayout',
  presets: [SwaggerUIBundle.presets.apis],
  plugins: [structure, namedExamplePickers],
  // Off: opened from a #/tag/operation address, Swagger UI 5.35 shows that operation's
  // path-level parameters unresolved (a parameter "any"), even after closing and reopening it.
  deepLinking: false,
  // A reader, not a client: no "Try it out" (so no server picker or Authorize either).
  supportedSubmitMethods: [],
  validatorUrl: null,
  defaultModelsExpandDepth: 0,
  // The light theme: the default (agate) has red on dark grey below 4.5:1.
  syntaxHighlight: { activated: true, theme: 'idea' },
});
