// The entry point of Kastor's client: `new Kafka({ bootstrap })` holds the connection settings and makes
// producers, consumers and admins. Each of them owns its connections (see cluster.ts for why).
import type { ClusterOptions, RetryOptions } from './cluster.ts';
import { Producer, type ProducerOptions } from './producer.ts';
import { Consumer, type ConsumerOptions } from './consumer.ts';
import { Admin } from './admin.ts';

export interface KafkaOptions {
  /** `host:port` of one or more brokers: a list, or one comma-separated string. */
  bootstrap: string | string[];
  clientId?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  retry?: RetryOptions;
  /** TLS to SSL/SASL_SSL listeners, e.g. `{ ca: readFileSync('ca.pem') }`. */
  tls?: ClusterOptions['tls'];
  /** SASL login on SASL_PLAINTEXT/SASL_SSL listeners: `{ mechanism: 'SCRAM-SHA-256', username, password }`. */
  sasl?: ClusterOptions['sasl'];
}

export class Kafka {
  private readonly clusterOptions: ClusterOptions;

  constructor(options: KafkaOptions) {
    this.clusterOptions = { ...options };
  }

  producer(options: ProducerOptions = {}): Producer {
    return new Producer(this.clusterOptions, options);
  }

  consumer(options: ConsumerOptions = {}): Consumer {
    return new Consumer(this.clusterOptions, options);
  }

  admin(): Admin {
    return new Admin(this.clusterOptions);
  }
}
