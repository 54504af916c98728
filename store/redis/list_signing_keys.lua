-- list_signing_keys: every key and its retirement time, read atomically.
-- KEYS[1] base. Reply: {'ok', current id, {id, JSON, …}, {id, retired ms, …}}.
local b = KEYS[1]
return {'ok', redis.call('GET', b .. 'skc') or '', redis.call('HGETALL', b .. 'skj'), redis.call('HGETALL', b .. 'skr')}
