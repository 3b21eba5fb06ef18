package org.debugroom.mynavi.sample.aws.elasticache.config;

import java.util.ArrayList;
import java.util.List;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Profile;
import org.springframework.core.env.Environment;
import org.springframework.data.redis.connection.RedisClusterConfiguration;
import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.serializer.GenericJackson2JsonRedisSerializer;
import org.springframework.data.redis.serializer.RedisSerializer;
import org.springframework.session.data.redis.config.ConfigureRedisAction;

/*
 * What Boot 2 and Boot 3 share: the Redis connection from the seed's
 * environment, no CONFIG command (ElastiCache refuses it), and the seed's
 * JSON serializer under the "json" profile.
 *
 *   REDIS_CLUSTER_ENDPOINT  host (default 127.0.0.1)
 *   REDIS_CLUSTER_PORT      port (default 6379)
 *   REDIS_CLUSTER=true      cluster mode; the seeds are REDIS_CLUSTER_NODES
 *                           (host:port,host:port,...) or the endpoint above
 */
@Configuration
public class RedisConfig {

    @Bean
    public LettuceConnectionFactory redisConnectionFactory(Environment env) {
        String host = env.getProperty("REDIS_CLUSTER_ENDPOINT", "");
        if (host.isEmpty()) {
            host = "127.0.0.1";
        }
        int port = Integer.parseInt(env.getProperty("REDIS_CLUSTER_PORT",
                                                    "6379"));

        if (!"true".equalsIgnoreCase(env.getProperty("REDIS_CLUSTER"))) {
            return new LettuceConnectionFactory(
                    new RedisStandaloneConfiguration(host, port));
        }

        List<String> seeds = new ArrayList<>();
        for (String s : env.getProperty("REDIS_CLUSTER_NODES", "").split(",")) {
            if (!s.isBlank()) {
                seeds.add(s.trim());
            }
        }
        if (seeds.isEmpty()) {
            seeds.add(host + ":" + port);
        }
        return new LettuceConnectionFactory(
                new RedisClusterConfiguration(seeds));
    }

    @Bean
    public static ConfigureRedisAction configureRedisAction() {
        return ConfigureRedisAction.NO_OP;
    }

    @Bean
    @Profile("json")
    public RedisSerializer<Object> springSessionDefaultRedisSerializer() {
        return new GenericJackson2JsonRedisSerializer();
    }
}
