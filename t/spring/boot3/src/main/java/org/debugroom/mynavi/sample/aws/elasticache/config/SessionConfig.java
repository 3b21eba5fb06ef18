package org.debugroom.mynavi.sample.aws.elasticache.config;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Profile;
import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.data.redis.core.RedisTemplate;
import org.springframework.data.redis.serializer.RedisSerializer;
import org.springframework.session.data.redis.RedisIndexedSessionRepository;
import org.springframework.session.data.redis.RedisSessionExpirationStore;
import org.springframework.session.data.redis.SortedSetRedisSessionExpirationStore;
import org.springframework.session.data.redis.config.annotation.web.http.EnableRedisIndexedHttpSession;

/*
 * Spring Session 3.5: the "indexed" profile asks for the indexed repository
 * (RedisIndexedSessionRepository); without it Spring Boot's auto-configuration
 * gives its default, RedisSessionRepository.  With "zset" too, the indexed
 * repository keeps its expirations in Spring Session 3.4+'s sorted set
 * instead of minute buckets, configured as Spring Session's reference
 * documentation shows, with the session's serializer for the members.
 */
@Configuration
@Profile("indexed")
@EnableRedisIndexedHttpSession
public class SessionConfig {

    @Bean
    @Profile("zset")
    public RedisSessionExpirationStore redisSessionExpirationStore(
            RedisConnectionFactory factory,
            @Qualifier("springSessionDefaultRedisSerializer")
            ObjectProvider<RedisSerializer<Object>> serializer) {
        RedisTemplate<String, Object> template = new RedisTemplate<>();
        template.setKeySerializer(RedisSerializer.string());
        template.setHashKeySerializer(RedisSerializer.string());
        serializer.ifAvailable(template::setValueSerializer);
        template.setConnectionFactory(factory);
        template.afterPropertiesSet();
        return new SortedSetRedisSessionExpirationStore(template,
                RedisIndexedSessionRepository.DEFAULT_NAMESPACE);
    }
}
