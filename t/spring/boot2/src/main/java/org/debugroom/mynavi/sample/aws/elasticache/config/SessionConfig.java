package org.debugroom.mynavi.sample.aws.elasticache.config;

import org.springframework.context.annotation.Configuration;
import org.springframework.session.data.redis.config.annotation.web.http.EnableRedisHttpSession;

/*
 * Spring Session 2.7: @EnableRedisHttpSession is the indexed repository
 * (RedisIndexedSessionRepository), as in the seed.
 */
@Configuration
@EnableRedisHttpSession
public class SessionConfig {
}
