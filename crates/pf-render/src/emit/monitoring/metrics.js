// Prometheus metrics of this nginx task alone, for Prometheus to scrape
// every task (an exporter behind the service's virtual IP would mix the
// tasks' counters). Loaded by the load balancer's nginx.conf:
//
// - metrics(): GET /metrics on the status port. Reads this nginx's own
//   stub_status through a subrequest (subrequests skip the allow/deny
//   phase; /metrics itself is behind the status port's allow list) and
//   writes it with nginx-prometheus-exporter's metric names.
// - count(): the value of $pf_metrics_count, logged once per request by
//   an access_log line, so it runs when the response status is final. It
//   counts each proxied response by upstream and status class.
//
// Counters live in the shared dictionary pf_metrics (all workers, reset
// when nginx restarts; Prometheus' rate() handles resets).

const DICT = 'pf_metrics';

function count(r) {
    // $proxy_host itself reads as undefined from njs; the map in
    // nginx.conf copies it into $pf_proxied_to.
    const upstream = r.variables.pf_proxied_to;
    if (upstream) {
        const status = Number(r.variables.status);
        const code = status >= 100 && status < 600 ? Math.floor(status / 100) + 'xx' : 'other';
        ngx.shared[DICT].incr(upstream + ' ' + code, 1, 0);
    }
    return '';
}

const STUB = /Active connections:\s*(\d+)\s+server accepts handled requests\s+(\d+)\s+(\d+)\s+(\d+)\s+Reading:\s*(\d+)\s+Writing:\s*(\d+)\s+Waiting:\s*(\d+)/;

function metric(out, name, type, help, value) {
    out.push('# HELP ' + name + ' ' + help);
    out.push('# TYPE ' + name + ' ' + type);
    out.push(name + ' ' + value);
}

// Label values are upstream names and status classes (letters, digits,
// `_`, `-`); escaped anyway as the exposition format requires.
function label(value) {
    return String(value).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

async function metrics(r) {
    const reply = await r.subrequest('/nginx_status');
    const m = reply.status === 200 ? STUB.exec(reply.responseText) : null;
    if (!m) {
        r.return(503, 'stub_status unreadable\n');
        return;
    }
    const out = [];
    metric(out, 'nginx_up', 'gauge', 'Whether this nginx answered its own stub_status.', 1);
    metric(out, 'nginx_connections_active', 'gauge', 'Active client connections.', m[1]);
    metric(out, 'nginx_connections_accepted', 'counter', 'Accepted client connections.', m[2]);
    metric(out, 'nginx_connections_handled', 'counter', 'Handled client connections.', m[3]);
    metric(out, 'nginx_http_requests_total', 'counter', 'Total http requests.', m[4]);
    metric(out, 'nginx_connections_reading', 'gauge', 'Connections where nginx is reading the request header.', m[5]);
    metric(out, 'nginx_connections_writing', 'gauge', 'Connections where nginx is writing the response back to the client.', m[6]);
    metric(out, 'nginx_connections_waiting', 'gauge', 'Idle client connections.', m[7]);
    out.push('# HELP nginx_upstream_responses_total Proxied responses by upstream and status class.');
    out.push('# TYPE nginx_upstream_responses_total counter');
    const items = ngx.shared[DICT].items().sort();
    for (let i = 0; i < items.length; i++) {
        const key = items[i][0];
        const value = items[i][1];
        const at = key.lastIndexOf(' ');
        out.push('nginx_upstream_responses_total{upstream="' + label(key.slice(0, at))
            + '",code="' + label(key.slice(at + 1)) + '"} ' + value);
    }
    r.headersOut['Content-Type'] = 'text/plain; version=0.0.4; charset=utf-8';
    r.return(200, out.join('\n') + '\n');
}

export default { count, metrics };
