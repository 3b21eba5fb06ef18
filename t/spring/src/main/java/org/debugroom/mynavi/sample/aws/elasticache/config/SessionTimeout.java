package org.debugroom.mynavi.sample.aws.elasticache.config;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.session.config.SessionRepositoryCustomizer;
import org.springframework.session.data.redis.RedisIndexedSessionRepository;

/*
 * For expiry tests: APP_SESSION_TIMEOUT (seconds, default 1800) is the
 * maxInactiveInterval of the sessions this app creates.  The annotations of
 * the indexed repositories ignore Spring Boot's session properties, so it is
 * set here; Boot 3's default repository takes it from spring.session.timeout
 * (application.properties).
 */
@Configuration
public class SessionTimeout {

    @Bean
    @SuppressWarnings("deprecation")
    public SessionRepositoryCustomizer<RedisIndexedSessionRepository>
            indexedSessionTimeout(@Value("${APP_SESSION_TIMEOUT:1800}") int s) {
        return repository -> repository.setDefaultMaxInactiveInterval(s);
    }
}
