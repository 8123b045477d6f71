'use strict';
// A minimal HTTP app: "/" greets, "/healthz" answers the health check.
const http = require('http');

function handler(req, res) {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok' }));
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end('Hello from a doubly-signed image!\n');
}

if (require.main === module) {
  const port = Number(process.env.PORT || 8080);
  http.createServer(handler).listen(port, () => console.log(`listening on ${port}`));
}

module.exports = { handler };
