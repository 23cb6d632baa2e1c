# confluent-kafka-python (librdkafka's transactional producer, KIP-98) driven step by step for
# test/compat/confluent-python-transactions.test.ts. One scenario per run, named by the first argument; the last
# line printed is one JSON object with what happened (deliveries, errors, records read), which the test asserts on.
# Every wait here is bounded (client timeouts, a deadline per loop), so a broker that never answers makes the
# scenario fail with an error instead of hanging; the test also kills the process after its own deadline.
#
#   confluent-txn.py commit-abort BOOTSTRAP TOPIC      commit, abort, commit, each to every partition of TOPIC
#   confluent-txn.py ctp BOOTSTRAP IN OUT GROUP         consume-transform-produce with send_offsets_to_transaction
#   confluent-txn.py fence BOOTSTRAP TOPIC              a second producer with the same transactional.id
#   confluent-txn.py pipelined BOOTSTRAP TOPIC N        transactions whose first batches on a partition are pipelined
#   confluent-txn.py read BOOTSTRAP TOPIC ISOLATION N   every record of TOPIC's N partitions, to their end
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

TIMEOUT_S = 30


def error_facts(err):
    """What a KafkaError says, as JSON: the test checks the code and the fatal/abortable flags."""
    return {
        'code': err.code(),
        'name': err.name(),
        'str': err.str(),
        'fatal': err.fatal(),
        'retriable': err.retriable(),
        'txn_requires_abort': err.txn_requires_abort(),
    }


def transactional_producer(bootstrap, txn_id, deliveries, more=None):
    conf = {
        'bootstrap.servers': bootstrap,
        'transactional.id': txn_id,
        'transaction.timeout.ms': 60000,
        'linger.ms': 5,
        'message.timeout.ms': 20000,
    }
    conf.update(more or {})
    producer = Producer(conf)

    def on_delivery(err, msg):
        deliveries.append({
            'value': msg.value().decode(),
            'partition': msg.partition(),
            'offset': msg.offset(),
            'error': error_facts(err) if err is not None else None,
        })

    return producer, on_delivery


def commit_abort(bootstrap, topic):
    deliveries = []
    producer, on_delivery = transactional_producer(bootstrap, 'py-tx-commit-abort', deliveries)
    producer.init_transactions(TIMEOUT_S)
    steps = []
    for name, count, end in (('c1', 6, 'commit'), ('ab', 3, 'abort'), ('c2', 3, 'commit')):
        producer.begin_transaction()
        for i in range(count):
            producer.produce(topic, value=('%s-%d' % (name, i)).encode(), partition=i % 3, on_delivery=on_delivery)
        if end == 'commit':
            # commit_transaction flushes first: every record is delivered before the EndTxn is sent.
            producer.commit_transaction(TIMEOUT_S)
        else:
            # Deliver the records before aborting, so the aborted records are in the log (read_uncommitted sees them).
            left = producer.flush(TIMEOUT_S)
            if left != 0:
                raise RuntimeError('%d records of the aborted transaction not delivered' % left)
            producer.abort_transaction(TIMEOUT_S)
        producer.poll(0)
        steps.append(end)
    left = producer.flush(TIMEOUT_S)
    return {'steps': steps, 'deliveries': deliveries, 'undelivered': left}


def committed_offset(consumer, topic):
    """The group's committed offset of TOPIC/0 (OffsetFetch; -1001 when none)."""
    return consumer.committed([TopicPartition(topic, 0)], timeout=TIMEOUT_S)[0].offset


def consume_n(consumer, n):
    got = []
    deadline = time.time() + TIMEOUT_S
    while len(got) < n and time.time() < deadline:
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        if msg.error():
            raise KafkaException(msg.error())
        got.append(msg)
    if len(got) < n:
        raise RuntimeError('consumed %d of %d records in %d s' % (len(got), n, TIMEOUT_S))
    return got


def ctp(bootstrap, in_topic, out_topic, group):
    # The input, written without a transaction.
    seed = Producer({'bootstrap.servers': bootstrap})
    for i in range(4):
        seed.produce(in_topic, value=('in-%d' % i).encode(), partition=0)
    if seed.flush(TIMEOUT_S) != 0:
        raise RuntimeError('the input was not delivered')

    consumer = Consumer({
        'bootstrap.servers': bootstrap,
        'group.id': group,
        'enable.auto.commit': False,
        'auto.offset.reset': 'earliest',
        'isolation.level': 'read_committed',
    })
    # Another member's view of the group's offsets: read_uncommitted, so its OffsetFetch does not ask for stable
    # offsets (KIP-447 require_stable) and answers at once with what is committed now.
    peek = Consumer({
        'bootstrap.servers': bootstrap,
        'group.id': group,
        'enable.auto.commit': False,
        'isolation.level': 'read_uncommitted',
    })
    deliveries = []
    producer, on_delivery = transactional_producer(bootstrap, 'py-tx-ctp', deliveries)
    producer.init_transactions(TIMEOUT_S)
    consumer.subscribe([in_topic])
    out = {'deliveries': deliveries}
    try:
        for name, end in (('t1', 'commit'), ('t2', 'abort')):
            records = consume_n(consumer, 2)
            producer.begin_transaction()
            for r in records:
                producer.produce(out_topic, value=('out-' + r.value().decode()).encode(), partition=0, on_delivery=on_delivery)
            positions = consumer.position(consumer.assignment())
            producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), TIMEOUT_S)
            out[name + '_sent_offset'] = [p.offset for p in positions if p.topic == in_topic][0]
            out[name + '_open_committed'] = committed_offset(peek, in_topic)
            if end == 'commit':
                producer.commit_transaction(TIMEOUT_S)
            else:
                if producer.flush(TIMEOUT_S) != 0:
                    raise RuntimeError('the aborted transaction\'s records were not delivered')
                producer.abort_transaction(TIMEOUT_S)
            # The consumer reads at read_committed, so its OffsetFetch asks for stable offsets (KIP-447): the
            # broker answers UNSTABLE_OFFSET_COMMIT, which librdkafka retries, until the marker settled them.
            out[name + '_committed'] = committed_offset(consumer, in_topic)
            out[name + '_peek_committed'] = committed_offset(peek, in_topic)
    finally:
        consumer.close()
        peek.close()
    out['undelivered'] = producer.flush(TIMEOUT_S)
    return out


def fence(bootstrap, topic):
    first_deliveries = []
    first, first_on_delivery = transactional_producer(bootstrap, 'py-tx-fence', first_deliveries)
    first.init_transactions(TIMEOUT_S)
    first.begin_transaction()
    first.produce(topic, value=b'zombie-1', partition=1, on_delivery=first_on_delivery)
    if first.flush(TIMEOUT_S) != 0:
        raise RuntimeError('zombie-1 not delivered')

    second_deliveries = []
    second, second_on_delivery = transactional_producer(bootstrap, 'py-tx-fence', second_deliveries)
    # Bumps the epoch: the coordinator aborts the first producer's open transaction and fences it.
    second.init_transactions(TIMEOUT_S)

    out = {'first_deliveries': first_deliveries, 'second_deliveries': second_deliveries}
    fenced = None
    try:
        first.produce(topic, value=b'zombie-2', partition=1, on_delivery=first_on_delivery)
        first.commit_transaction(TIMEOUT_S)
    except KafkaException as e:
        fenced = error_facts(e.args[0])
    out['first_error'] = fenced
    first.flush(5)

    second.begin_transaction()
    second.produce(topic, value=b'fresh', partition=1, on_delivery=second_on_delivery)
    second.commit_transaction(TIMEOUT_S)
    out['second_undelivered'] = second.flush(TIMEOUT_S)
    return out


def pipelined(bootstrap, topic, partitions):
    # One record per batch (batch.num.messages=1) and up to 5 Produce requests in flight: a transaction's first
    # batches on a partition reach its leader back to back, before the first one is verified with the coordinator
    # (KIP-890) and appended. Every one must be appended in order, none refused as out of sequence.
    deliveries = []
    producer, on_delivery = transactional_producer(bootstrap, 'py-tx-pipelined', deliveries, {'batch.num.messages': 1})
    producer.init_transactions(TIMEOUT_S)
    errors = []
    for t in range(8):
        producer.begin_transaction()
        for i in range(6):
            producer.produce(topic, value=('t%d-%d' % (t, i)).encode(), partition=t % partitions, on_delivery=on_delivery)
        try:
            producer.commit_transaction(TIMEOUT_S)
        except KafkaException as e:
            errors.append(error_facts(e.args[0]))
            break
    producer.flush(TIMEOUT_S)
    return {'deliveries': deliveries, 'errors': errors}


def read(bootstrap, topic, isolation, partitions):
    consumer = Consumer({
        'bootstrap.servers': bootstrap,
        'group.id': 'py-tx-read-%s-%s' % (topic, isolation),
        'enable.auto.commit': False,
        'enable.partition.eof': True,
        'isolation.level': isolation,
    })
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got = []
    at_end = set()
    deadline = time.time() + TIMEOUT_S
    while len(at_end) < partitions and time.time() < deadline:
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                at_end.add(msg.partition())
                continue
            raise KafkaException(msg.error())
        got.append([msg.partition(), msg.offset(), msg.value().decode()])
    # The end offset a read_committed consumer stops at is the last stable offset; read_uncommitted, the high watermark.
    ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=TIMEOUT_S)[1] for p in range(partitions)}
    consumer.close()
    if len(at_end) < partitions:
        raise RuntimeError('reached the end of %d of %d partitions in %d s (got %r)' % (len(at_end), partitions, TIMEOUT_S, got))
    return {'records': got, 'high_watermarks': ends}


def main():
    mode = sys.argv[1]
    args = sys.argv[2:]
    if mode == 'commit-abort':
        out = commit_abort(args[0], args[1])
    elif mode == 'ctp':
        out = ctp(args[0], args[1], args[2], args[3])
    elif mode == 'fence':
        out = fence(args[0], args[1])
    elif mode == 'pipelined':
        out = pipelined(args[0], args[1], int(args[2]))
    elif mode == 'read':
        out = read(args[0], args[1], args[2], int(args[3]))
    else:
        raise SystemExit('unknown scenario %s' % mode)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
