"""python3-trove's guest API client set up as trove-taskmanager runs it (shared by the interop drivers here).

connect(url, key) configures trove.rpc (control_exchange trove; the instance key, when given, is what
get_instance_encryption_key returns) and returns (API class, admin TroveContext). Steps(...) runs named steps and
prints one JSON line each: {"step": name, "result": ...} or {"step": name, "error": "..."}.
"""
import json


def connect(url, key=None, high_timeout=120):
    from trove.common import cfg
    import oslo_messaging as messaging
    conf = cfg.CONF
    conf([], project='trove', default_config_files=[])
    from oslo_messaging import transport as oslo_transport
    conf.register_opts(oslo_transport._transport_opts)  # registered lazily by oslo; we set it before rpc.init
    conf.set_override('transport_url', url)
    conf.set_override('metrics_thread_stop_timeout', 0, group='oslo_messaging_metrics')
    conf.set_override('agent_call_high_timeout', high_timeout)
    messaging.set_transport_defaults('trove')
    from trove import rpc
    rpc.init(conf)
    import trove.instance.models as models
    # What the taskmanager reads from its database: the instance's key (prepare's queue creation reads DBInstance).
    models.get_instance_encryption_key = lambda instance_id: key
    models.DBInstance.get_by = classmethod(lambda cls, **kwargs: type('Instance', (), {'key': key})())
    from trove.common.context import TroveContext
    from trove.guestagent.api import API
    return API, TroveContext(user='admin', project_id='p1', request_id='req-driver-1', is_admin=True)


class Steps:
    """Runs each step, prints its result or error as a JSON line, and goes on: the test asserts on each line."""

    def __init__(self):
        self.failed = False

    def __call__(self, name, fn):
        try:
            result = fn()
            print(json.dumps({'step': name, 'result': result}), flush=True)
            return result
        except Exception as e:
            self.failed = True
            print(json.dumps({'step': name, 'error': '%s: %s' % (type(e).__name__, e)}), flush=True)
            return None
