import { Global, Module } from '@nestjs/common';
import { AuthKeySource, JwksKeySource } from './auth-key-source';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';

@Global()
@Module({
  providers: [{ provide: AuthKeySource, useClass: JwksKeySource }, AuthService, AuthGuard],
  exports: [AuthKeySource, AuthService, AuthGuard],
})
export class AuthModule {}
